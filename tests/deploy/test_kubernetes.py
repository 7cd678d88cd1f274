"""deploy/k8s checked without a cluster: the base as written (PyYAML) and the production
overlay as ``kubectl kustomize`` renders it, validated against Kubernetes' schemas
(kubernetes-validate, offline) and for what the platform relies on: probes, resources and
non-root containers everywhere, autoscalers and Services that find their pods, a worker that
is given the time to finish its jobs, the migration Job, the Ingress and the settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.manifests import (
    DEFAULT_JOB_TIMEOUT_SECONDS,
    DEFAULT_SHUTDOWN_GRACE_SECONDS,
    K8S_BASE,
    K8S_PRODUCTION,
    KILL_MARGIN_SECONDS,
    SECRET_NAME,
    base_resources,
    container_env,
    kubectl,
    kustomize,
    of_kind,
    parse_cli,
    pod_spec,
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


def test_the_ingress_routes_each_prefix_to_the_api_serving_it(resources: Resources) -> None:
    (ingress,) = of_kind(resources, "Ingress").values()
    services = of_kind(resources, "Service")
    deployments = of_kind(resources, "Deployment")
    config_maps = of_kind(resources, "ConfigMap")
    routes = {
        path["path"]: path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert set(routes) == set(APIS.values()), routes
    for api, prefix in APIS.items():
        backend = routes[prefix]
        assert backend["name"] == api and backend["name"] in services
        ports = {port["name"] for port in services[api]["spec"]["ports"]}
        assert backend["port"]["name"] in ports
        environment = container_env(_main_container(deployments[api]), config_maps)
        assert environment["MC2CM_ROOT_PATH"] == prefix, f"{api} would not serve {prefix}"


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
