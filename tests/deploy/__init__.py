"""Static checks of the deployment files: image, lock file, compose file, Kubernetes."""
