"""The seed's names and settings in the rendered manifests (scripts/validate-manifests).

Usage: check_manifests.py RENDERED.yaml CONSUMERS_DIR. Exits 1 naming every check that fails.
"""
import glob
import sys

import yaml

SERVICES = {
    "inventory-service": ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "AWS_REGION", "DYNAMODB_TABLE", "DLQ_S3_BUCKET"],
    "analytics-service": ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "AWS_REGION", "S3_BUCKET", "FLUSH_INTERVAL"],
    "search-indexer": ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "AWS_REGION", "DYNAMODB_TABLE"],
}
SHUTDOWN_GRACE = 25  # the services' default (SHUTDOWN_GRACE)

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def main():
    objects = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
    by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    # `kubectl apply -f k8s/consumers/` reads every file there: each must hold Kubernetes objects only.
    for path in sorted(glob.glob(sys.argv[2] + "/*.yaml")):
        for o in yaml.safe_load_all(open(path)):
            if o:
                check("kind" in o and "apiVersion" in o and not o["apiVersion"].startswith("kustomize."),
                      f"{path}: not a Kubernetes object for kubectl apply -f")
    check(("Namespace", "cdc-consumers") in by, "namespace cdc-consumers")
    for name, variables in SERVICES.items():
        d = by.get(("Deployment", name))
        check(d is not None, f"deployment {name}")
        if d is None:
            continue
        check(d["metadata"].get("namespace") == "cdc-consumers", f"{name}: namespace cdc-consumers")
        pod = d["spec"]["template"]
        # kubectl logs -l app=<name> -n cdc-consumers selects its pods.
        check(pod["metadata"]["labels"].get("app") == name, f"{name}: pods labelled app={name}")
        check(d["spec"]["selector"]["matchLabels"] == {"app": name}, f"{name}: selector app={name}")
        spec = pod["spec"]
        c = spec["containers"][0]
        image = c["image"]
        check(image == f"ACCOUNT_ID.dkr.ecr.us-east-1.amazonaws.com/{name}:latest", f"{name}: image with ACCOUNT_ID")
        check(image.replace("ACCOUNT_ID", "123456789012") == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:latest",
              f"{name}: the seed's sed gives an ECR image")
        r = c["resources"]
        check(r["requests"] == {"memory": "256Mi", "cpu": "200m"}, f"{name}: requests 256Mi, 200m")
        check(r["limits"] == {"memory": "512Mi", "cpu": "500m"}, f"{name}: limits 512Mi, 500m")
        check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", f"{name}: liveness on /healthz")
        check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{name}: readiness on /readyz")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        check(ports.get("metrics") == 8080, f"{name}: port metrics 8080")
        sc = c["securityContext"]
        check(sc.get("runAsNonRoot") is True and spec["securityContext"].get("runAsNonRoot") is True, f"{name}: non-root")
        check(sc.get("readOnlyRootFilesystem") is True, f"{name}: read-only root filesystem")
        check(sc.get("allowPrivilegeEscalation") is False, f"{name}: no privilege escalation")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: all capabilities dropped")
        env = {e["name"]: e.get("value") for e in c["env"]}
        grace = int(env.get("SHUTDOWN_GRACE", SHUTDOWN_GRACE))
        check(grace < spec["terminationGracePeriodSeconds"] <= grace + 15,
              f"{name}: terminationGracePeriodSeconds just above SHUTDOWN_GRACE")
        for v in variables:
            check(v in env, f"{name}: the seed's {v}")
        check(env.get("KAFKA_GROUP_ID") == f"{name}-group", f"{name}: group {name}-group")
        check(("ServiceAccount", spec["serviceAccountName"]) in by, f"{name}: its service account exists")
        s = by.get(("Service", name))
        check(s is not None and s["spec"]["selector"] == {"app": name}, f"{name}: a Service selecting its pods")
        if s:
            a = s["metadata"].get("annotations", {})
            check(a.get("prometheus.io/scrape") == "true" and a.get("prometheus.io/port") == "8080", f"{name}: scrape annotations")
            check(any(p["name"] == "metrics" and p["port"] == 8080 for p in s["spec"]["ports"]), f"{name}: Service port metrics")
        h = by.get(("HorizontalPodAutoscaler", name))
        check(h is not None and h["spec"]["scaleTargetRef"]["name"] == name, f"{name}: a HorizontalPodAutoscaler")
        b = by.get(("PodDisruptionBudget", name))
        check(b is not None and b["spec"]["selector"]["matchLabels"] == {"app": name}, f"{name}: a PodDisruptionBudget")
    search = by.get(("Service", "search-indexer"))
    check(search is not None and any(p["name"] == "search" for p in search["spec"]["ports"]), "search-indexer: the search API port")
    for f in failures:
        print("check_manifests:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
