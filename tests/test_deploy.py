"""deploy/: the Kubernetes manifests, checked offline against Kubernetes' own schemas (strict: an
unknown or misspelt field fails) and against each other and the adapter's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from adapter.config import documented_defaults

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
# The oldest Kubernetes release the manifests are meant for, and the newest the package knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


def manifests() -> dict[str, dict[str, Any]]:
    """Every resource in deploy/, by kind (one of each)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert document["kind"] not in found, f"a second {document['kind']} in {path.name}"
            found[document["kind"]] = document
    return found


def test_deploy_holds_the_resources_a_fleet_needs() -> None:
    assert set(manifests()) == {"ConfigMap", "Secret", "Deployment", "Service",
                                "HorizontalPodAutoscaler", "PodDisruptionBudget"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", sorted(manifests()))
def test_each_manifest_is_valid_for_kubernetes(kind: str, version: str) -> None:
    kubernetes_validate.validate(manifests()[kind], version, strict=True)


def test_a_misspelt_field_would_be_refused() -> None:
    deployment = manifests()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def container() -> dict[str, Any]:
    [adapter] = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return adapter


def test_probes_are_health_for_liveness_and_ready_for_readiness() -> None:
    adapter = container()
    assert adapter["livenessProbe"]["httpGet"]["path"] == "/health"
    assert adapter["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert adapter["ports"][0] == {"name": "http", "containerPort": 8000, "protocol": "TCP"}
    assert adapter["resources"]["requests"].keys() == {"cpu", "memory"}


def test_the_termination_grace_outlasts_the_drain_and_the_stream_grace() -> None:
    config = manifests()["ConfigMap"]["data"]
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > \
        float(config["ADAPTER_DRAIN_DELAY"]) + float(config["ADAPTER_SHUTDOWN_GRACE"])


def test_settings_come_from_the_config_map_and_keys_from_the_secret() -> None:
    resources = manifests()
    sources = {next(iter(source)): source[next(iter(source))]["name"]
               for source in container()["envFrom"]}
    assert sources == {"configMapRef": resources["ConfigMap"]["metadata"]["name"],
                       "secretRef": resources["Secret"]["metadata"]["name"]}
    variables = set(documented_defaults())
    config = resources["ConfigMap"]["data"]
    assert set(config) <= variables
    assert config["ADAPTER_STORE"].startswith("postgresql://") and "@" in config["ADAPTER_STORE"]
    assert ":" not in config["ADAPTER_STORE"].split("//")[1].split("@")[0]  # no password here
    assert config["ADAPTER_REDIS_URL"].startswith("redis://")
    secret = resources["Secret"]["stringData"]
    assert set(secret) == {"GEMINI_API_KEY", "ADAPTER_API_KEYS", "PGPASSWORD"}
    assert not set(secret) & set(config)


def test_service_hpa_and_budget_point_at_the_deployment() -> None:
    resources = manifests()
    deployment = resources["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert resources["Service"]["spec"]["selector"].items() <= labels.items()
    assert resources["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    assert resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() \
        <= labels.items()
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert resources["HorizontalPodAutoscaler"]["spec"]["minReplicas"] > \
        resources["PodDisruptionBudget"]["spec"]["maxUnavailable"]
