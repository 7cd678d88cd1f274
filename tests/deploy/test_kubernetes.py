"""deploy/k8s checked without a cluster: the base as written (PyYAML) and the production
overlay as ``kubectl kustomize`` renders it, validated against Kubernetes' schemas
(kubernetes-validate, offline) and for what the platform relies on: probes, resources and
non-root containers everywhere, autoscalers and Services that find their pods, a worker that
is given the time to finish its jobs and the connections to run them, imports given minutes
when the profiles API stops, the migration Job, an Ingress that routes only what the public
uses, keep-alive longer than the Ingress controller's, and the settings."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.manifests import (
    ADMIN_CONNECTIONS,
    DEFAULT_JOB_TIMEOUT_SECONDS,
    DEFAULT_SHUTDOWN_GRACE_SECONDS,
    IMPORT_GRACE_SECONDS,
    INGRESS_NGINX_KEEPALIVE_SECONDS,
    K8S_BASE,
    K8S_PRODUCTION,
    KILL_MARGIN_SECONDS,
    LISTEN_CONNECTIONS,
    MIGRATION_CONNECTIONS,
    ROOT,
    SECRET_NAME,
    WORKER_OWN_CONNECTIONS,
    api_paths,
    base_resources,
    container_env,
    kubectl,
    kustomize,
    of_kind,
    page_paths,
    parse_cli,
    pod_spec,
    pool_size,
    readme_section,
    worker_max_jobs,
)

Resources = list[dict[str, Any]]
#: The oldest Kubernetes the manifests are checked against, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
APIS = {"profiles": "/profiles", "dialogue": "/dialogue"}


def _production() -> Resources:
    if kubectl() is None:
        pytest.skip("kubectl is not installed: the overlay is not rendered (the base is checked)")
    return kustomize(K8S_PRODUCTION)


SOURCES: dict[str, Callable[[], Resources]] = {
    "base": base_resources,
    "production": _production,
}


@pytest.fixture(params=list(SOURCES))
def resources(request: pytest.FixtureRequest) -> Resources:
    return SOURCES[request.param]()


def _main_container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec(workload)["containers"]
    container_: dict[str, Any] = container
    return container_


def _labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_rendered_manifests_are_valid_kubernetes_objects(version: str) -> None:
    documents = [*kustomize(K8S_BASE), *_production()] if kubectl() else []
    if not documents:
        pytest.skip("kubectl is not installed: nothing rendered to validate")
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_every_kind_the_platform_needs_is_there(resources: Resources) -> None:
    kinds = {(r["kind"], r["metadata"]["name"]) for r in resources}
    for api in APIS:
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            assert (kind, api) in kinds, f"no {kind} {api}"
    assert ("Deployment", "worker") in kinds
    assert ("Job", "mc2cm-migrate") in kinds
    assert any(kind == "Ingress" for kind, _ in kinds)
    assert any(kind == "ConfigMap" for kind, _ in kinds)


def test_every_container_is_probed_sized_and_runs_as_non_root(resources: Resources) -> None:
    for name, deployment in of_kind(resources, "Deployment").items():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        container = _main_container(deployment)
        startup, ready, live = (
            container[probe] for probe in ("startupProbe", "readinessProbe", "livenessProbe")
        )
        assert startup["httpGet"]["path"] == "/healthz", name
        assert ready["httpGet"]["path"] == "/readyz", name
        assert live["httpGet"]["path"] == "/healthz", name
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe in (startup, ready, live):
            assert probe["httpGet"]["port"] in ports, f"{name}: probe on an unnamed port"
    for name, workload in {**of_kind(resources, "Deployment"), **of_kind(resources, "Job")}.items():
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            label = f"{name}/{container['name']}"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), label
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, label
            assert security["allowPrivilegeEscalation"] is False, label
            assert security["capabilities"]["drop"] == ["ALL"], label


def test_every_command_is_one_mc2cm_accepts(resources: Resources) -> None:
    workloads = {**of_kind(resources, "Deployment"), **of_kind(resources, "Job")}
    for name, workload in workloads.items():
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert "command" not in container, f"{name}: the image's entry point is mc2cm"
            parse_cli(container["args"])
    (job,) = of_kind(resources, "Job").values()
    assert _main_container(job)["args"] == ["migrate"]
    for api in APIS:
        assert _main_container(workloads[api])["args"][:2] == ["serve", api]
    assert _main_container(workloads["worker"])["args"] == ["worker"]


def test_roles_start_only_once_the_migrations_are_applied(resources: Resources) -> None:
    for name, deployment in of_kind(resources, "Deployment").items():
        (wait,) = pod_spec(deployment)["initContainers"]
        assert wait["args"][:2] == ["migrate", "--wait"], name
        assert wait["image"] == _main_container(deployment)["image"], name


def test_autoscalers_target_deployments_they_may_scale(resources: Resources) -> None:
    deployments = of_kind(resources, "Deployment")
    for name, autoscaler in of_kind(resources, "HorizontalPodAutoscaler").items():
        target = autoscaler["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, name
        assert "replicas" not in deployments[target["name"]]["spec"], (
            f"{target['name']} sets replicas that every apply would reset under its autoscaler"
        )
        assert 1 < autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"], name
        container = _main_container(deployments[target["name"]])
        assert "cpu" in container["resources"]["requests"], "CPU utilisation needs a request"


def test_services_and_budgets_select_pods_that_exist(resources: Resources) -> None:
    templates = [
        (name, d["spec"]["template"]["metadata"]["labels"], _main_container(d))
        for name, d in of_kind(resources, "Deployment").items()
    ]
    for name, service in of_kind(resources, "Service").items():
        selected = [
            container
            for _, labels, container in templates
            if _labels_match(service["spec"]["selector"], labels)
        ]
        assert selected, f"Service {name} selects no pod"
        for port in service["spec"]["ports"]:
            for container in selected:
                names = {p["name"] for p in container["ports"]}
                assert port["targetPort"] in names, f"Service {name}: {port['targetPort']}"
    for name, budget in of_kind(resources, "PodDisruptionBudget").items():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(_labels_match(selector, labels) for _, labels, _ in templates), name


def _ingress_backend(ingress: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The backend the Ingress sends ``path`` to, as Kubernetes specifies the match (``Exact``,
    or ``Prefix`` by whole path elements; the longest match wins), or ``None``."""
    matches = []
    for rule in ingress["spec"]["rules"]:
        for route in rule["http"]["paths"]:
            kind, prefix = route["pathType"], route["path"]
            assert kind in {"Exact", "Prefix"}, f"{prefix}: {kind} means what the controller says"
            stem = prefix.rstrip("/")
            if path == prefix or (kind == "Prefix" and path.startswith(stem + "/")):
                matches.append((len(prefix), route["backend"]))
    return max(matches, key=lambda match: match[0])[1] if matches else None


def test_the_ingress_routes_each_prefix_to_the_api_serving_it(resources: Resources) -> None:
    (ingress,) = of_kind(resources, "Ingress").values()
    services = of_kind(resources, "Service")
    deployments = of_kind(resources, "Deployment")
    config_maps = of_kind(resources, "ConfigMap")
    for api, prefix in APIS.items():
        public, _ = api_paths(api)
        for path in public:
            backend = _ingress_backend(ingress, prefix + path)
            assert backend is not None, f"the Ingress does not route {prefix}{path}"
            service = backend["service"]
            assert service["name"] == api and api in services, (prefix + path, service)
            ports = {port["name"] for port in services[api]["spec"]["ports"]}
            assert service["port"]["name"] in ports
        environment = container_env(_main_container(deployments[api]), config_maps)
        assert environment["MC2CM_ROOT_PATH"] == prefix, f"{api} would not serve {prefix}"


def test_the_ingress_routes_the_public_pages_at_the_root(resources: Resources) -> None:
    """As the compose proxy: each page (and its query strings) goes to the API serving it,
    which serves it without its prefix too; the pages' neighbours stay unrouted."""
    (ingress,) = of_kind(resources, "Ingress").values()
    pages = {api: page_paths(api) for api in APIS}
    assert {"/", "/cities/X", "/cities/X/editions", "/compare"} <= set(pages["profiles"]), pages
    assert "/events" in pages["dialogue"], pages
    for api, paths in pages.items():
        for path in paths:
            backend = _ingress_backend(ingress, path)
            assert backend is not None, f"the Ingress does not route {path}"
            assert backend["service"]["name"] == api, (path, backend)
    for unrouted in ("/index", "/compare/x", "/events/1", "/eventsx", "/v1/cities"):
        assert _ingress_backend(ingress, unrouted) is None, f"{unrouted} is routed"


def test_the_ingress_keeps_health_and_metrics_inside_the_cluster(resources: Resources) -> None:
    """Each /readyz asks PostgreSQL and Redis and each /metrics queries the outbox: not for the
    public. The kubelet and Prometheus reach every pod directly."""
    (ingress,) = of_kind(resources, "Ingress").values()
    for api, prefix in APIS.items():
        _, operations = api_paths(api)
        assert {"/healthz", "/readyz", "/metrics"} <= set(operations), operations
        for path in operations:
            for public in (prefix + path, path):
                assert _ingress_backend(ingress, public) is None, f"{public} is public"


def test_apis_keep_idle_connections_longer_than_the_ingress_controller(
    resources: Resources,
) -> None:
    """Otherwise the controller may send a request on a connection the API is closing: an
    intermittent 502 that it does not retry for a POST."""
    config_maps = of_kind(resources, "ConfigMap")
    deployments = of_kind(resources, "Deployment")
    for api in APIS:
        environment = container_env(_main_container(deployments[api]), config_maps)
        keep_alive = float(environment["MC2CM_KEEP_ALIVE_SECONDS"])
        assert keep_alive > INGRESS_NGINX_KEEPALIVE_SECONDS, (api, keep_alive)


def test_grace_periods_outlast_what_each_role_waits_for(resources: Resources) -> None:
    config_maps = of_kind(resources, "ConfigMap")
    for name, deployment in of_kind(resources, "Deployment").items():
        container = _main_container(deployment)
        environment = container_env(container, config_maps)
        grace = float(
            environment.get("MC2CM_SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE_SECONDS)
        )
        waits = grace
        if name == "worker":
            timeout = environment.get("MC2CM_JOB_TIMEOUT_SECONDS", DEFAULT_JOB_TIMEOUT_SECONDS)
            waits = max(grace, float(timeout))
            assert grace >= float(timeout), "the worker waits for a job as long as it may run"
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {})
        if pre_stop:
            assert pre_stop["command"][0] == "sleep"
            waits += float(pre_stop["command"][1])
        period = pod_spec(deployment)["terminationGracePeriodSeconds"]
        assert period >= waits + KILL_MARGIN_SECONDS, (
            f"{name}: killed after {period} s, waits {waits} s"
        )


def test_an_import_in_flight_gets_minutes_when_a_profiles_pod_stops(
    resources: Resources,
) -> None:
    """A rollout or a scale-down stops pods whose imports may be minutes from their answer."""
    config_maps = of_kind(resources, "ConfigMap")
    profiles = of_kind(resources, "Deployment")["profiles"]
    environment = container_env(_main_container(profiles), config_maps)
    assert float(environment["MC2CM_SHUTDOWN_GRACE_SECONDS"]) >= IMPORT_GRACE_SECONDS


def test_the_worker_keeps_a_connection_for_each_job_and_three_more(resources: Resources) -> None:
    config_maps = of_kind(resources, "ConfigMap")
    worker = _main_container(of_kind(resources, "Deployment")["worker"])
    pool = int(container_env(worker, config_maps)["MC2CM_DB_POOL_SIZE"])
    jobs = worker_max_jobs()
    assert pool >= jobs + WORKER_OWN_CONNECTIONS, (
        f"a pool of {pool} makes the relay and /readyz wait behind {jobs} jobs"
    )


def test_settings_come_from_the_config_map_and_the_documented_secret(
    resources: Resources,
) -> None:
    config_maps = of_kind(resources, "ConfigMap")
    assert not of_kind(resources, "Secret"), "no secret value is committed"
    workloads = {**of_kind(resources, "Deployment"), **of_kind(resources, "Job")}
    for name, workload in workloads.items():
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            sources = container["envFrom"]
            maps = [s["configMapRef"]["name"] for s in sources if "configMapRef" in s]
            secrets = [s["secretRef"]["name"] for s in sources if "secretRef" in s]
            assert maps and all(m in config_maps for m in maps), (name, maps)
            assert secrets == [SECRET_NAME], (name, secrets)
            environment = container_env(container, config_maps)
            assert environment["MC2CM_ENVIRONMENT"] == "production", name
    worker = _main_container(workloads["worker"])
    environment = container_env(worker, config_maps)
    ports = {port["name"]: port["containerPort"] for port in worker["ports"]}
    assert ports["metrics"] == int(environment["MC2CM_METRICS_PORT"])
    assert environment["MC2CM_METRICS_HOST"] == "0.0.0.0", "kubelet probes the pod's address"


def test_production_runs_a_released_image_on_its_host_with_tls() -> None:
    production = _production()
    images = {
        container["image"]
        for workload in [
            *of_kind(production, "Deployment").values(),
            *of_kind(production, "Job").values(),
        ]
        for container in pod_spec(workload).get("initContainers", [])
        + pod_spec(workload)["containers"]
    }
    (image,) = images
    assert not image.endswith(":latest") and ":" in image, image
    (ingress,) = of_kind(production, "Ingress").values()
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts == set(ingress["spec"]["tls"][0]["hosts"]), ingress["spec"]
    namespaces = {r["metadata"].get("namespace") for r in production if r["kind"] != "Namespace"}
    assert len(namespaces) == 1 and None not in namespaces, namespaces


def _connections_at_most(resources: Resources) -> int:
    """Connections to PostgreSQL with every autoscaler at its maximum during a rollout (each
    Deployment's ``maxSurge`` of new pods beside the old), the migration Job running."""
    config_maps = of_kind(resources, "ConfigMap")
    autoscaled = {
        autoscaler["spec"]["scaleTargetRef"]["name"]: autoscaler["spec"]["maxReplicas"]
        for autoscaler in of_kind(resources, "HorizontalPodAutoscaler").values()
    }
    total = MIGRATION_CONNECTIONS * len(of_kind(resources, "Job"))
    for name, deployment in of_kind(resources, "Deployment").items():
        replicas = autoscaled.get(name, deployment["spec"].get("replicas", 1))
        surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        if isinstance(surge, str):
            surge = math.ceil(replicas * int(surge.rstrip("%")) / 100)
        pool = pool_size(container_env(_main_container(deployment), config_maps))
        listen = LISTEN_CONNECTIONS if name == "worker" else 0
        total += (replicas + surge) * (pool + listen)
    return total


def test_the_readme_sizes_postgresql_for_the_production_overlay_in_a_rollout() -> None:
    scaling = readme_section("Deployment")
    stated = re.search(r"(\d+) for the production overlay", scaling)
    assert stated, "the README's Scaling no longer sizes the production overlay"
    needed = _connections_at_most(_production()) + ADMIN_CONNECTIONS
    assert int(stated[1]) == needed, f"README says {stated[1]}, the overlay needs {needed}"


def test_the_readme_release_deletes_the_previous_job_before_applying() -> None:
    """The Job's pod template cannot change: applying over the previous release's Job fails."""
    deployment = readme_section("Deployment")
    steps = deployment[deployment.index("**Releasing**") :]
    commands = [
        shlex.split(line)
        for line in steps.split("```sh", 1)[1].split("```", 1)[0].splitlines()
        if line.strip() and not line.startswith("#")
    ]
    (job,) = of_kind(base_resources(), "Job")
    delete = next(i for i, c in enumerate(commands) if c[:1] == ["kubectl"] and "delete" in c)
    apply = next(i for i, c in enumerate(commands) if c[:1] == ["kubectl"] and "apply" in c)
    assert delete < apply, commands
    assert commands[delete][-3:] == ["job", job, "--ignore-not-found"], commands[delete]
    assert commands[apply][-2:] == ["-k", str(K8S_PRODUCTION.relative_to(ROOT))]
    namespace = yaml.safe_load((K8S_PRODUCTION / "kustomization.yaml").read_text())["namespace"]
    for command in commands:
        if command[0] == "kubectl" and "apply" not in command:
            assert command[1:3] == ["-n", namespace], command
