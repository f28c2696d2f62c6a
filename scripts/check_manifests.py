"""The seed's names and settings in the rendered manifests (scripts/validate-manifests).

Usage: check_manifests.py RENDERED.yaml CONSUMERS_DIR [LAG_RENDERED.yaml ADAPTER_VALUES.yaml].
Exits 1 naming every check that fails. With the last two, deploy/lag-autoscaling as rendered and
its prometheus-adapter values are checked too.
"""
import glob
import json
import sys

import hcl2
import yaml

SERVICES = {
    "inventory-service": ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "AWS_REGION", "DYNAMODB_TABLE", "DLQ_S3_BUCKET"],
    "analytics-service": ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "AWS_REGION", "S3_BUCKET", "FLUSH_INTERVAL"],
    "search-indexer": ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "AWS_REGION", "DYNAMODB_TABLE", "DLQ", "DLQ_TOPIC"],
}
SHUTDOWN_GRACE = 25  # the services' default (SHUTDOWN_GRACE)
PARTITIONS = 3  # of each topic (scripts/stack's num.partitions, as in production)
LAG_METRIC = "cdc_consumer_group_lag"

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
        if name == "search-indexer":
            # The seed grants it DynamoDB only: no bucket, dead letters in Kafka.
            check("DLQ_S3_BUCKET" not in env and "S3_BUCKET" not in env and env.get("DLQ") == "kafka",
                  f"{name}: dead letters in Kafka (DLQ=kafka), no bucket (the seed grants it none)")
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
    if len(sys.argv) > 4:
        check_lag_autoscaling(sys.argv[3], sys.argv[4])
    check_iam(by)
    for f in failures:
        print("check_manifests:", f, file=sys.stderr)
    return 1 if failures else 0


def check_lag_autoscaling(rendered, values):
    """Each service scales on its own group's lag, from 1 replica to the partition count, and the
    adapter serves the metric the HPAs name."""
    objects = [o for o in yaml.safe_load_all(open(rendered)) if o]
    by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    for name in SERVICES:
        check(("Deployment", name) in by, f"lag-autoscaling: deployment {name}")
        h = by.get(("HorizontalPodAutoscaler", name))
        check(h is not None, f"lag-autoscaling: {name} has a HorizontalPodAutoscaler")
        if h is None:
            continue
        spec = h["spec"]
        check(spec["scaleTargetRef"]["name"] == name, f"lag-autoscaling: {name}'s HPA scales {name}")
        check(spec.get("minReplicas") == 1 and spec["maxReplicas"] == PARTITIONS,
              f"lag-autoscaling: {name} scales from 1 to {PARTITIONS} replicas (the partitions)")
        metrics = spec.get("metrics", [])
        check(len(metrics) == 1 and metrics[0]["type"] == "External", f"lag-autoscaling: {name} scales on one external metric")
        if metrics and metrics[0]["type"] == "External":
            e = metrics[0]["external"]
            check(e["metric"]["name"] == LAG_METRIC, f"lag-autoscaling: {name} scales on {LAG_METRIC}")
            check(e["metric"].get("selector", {}).get("matchLabels") == {"service": name},
                  f"lag-autoscaling: {name} reads its own group's lag")
            check(e["target"]["type"] == "AverageValue", f"lag-autoscaling: {name} targets a lag per replica")
        down = spec.get("behavior", {}).get("scaleDown", {})
        check(down.get("stabilizationWindowSeconds", 0) >= 300, f"lag-autoscaling: {name} scales down after 5 minutes")
    v = yaml.safe_load(open(values))
    rules = v.get("rules", {}).get("external", [])
    named = [r for r in rules if r.get("name", {}).get("as") == LAG_METRIC]
    check(len(named) == 1, f"prometheus-adapter values: one external rule serving {LAG_METRIC}")
    if named:
        r = named[0]
        check(r["seriesQuery"].startswith("consumer_lag{"), "prometheus-adapter values: the rule reads consumer_lag")
        check("sum by (service)" in r["metricsQuery"], "prometheus-adapter values: the lag summed over a service's members")
        check(r.get("resources", {}).get("overrides", {}).get("namespace", {}).get("resource") == "namespace",
              "prometheus-adapter values: series in the HPA's namespace")


def check_iam(by):
    """deploy/iam: a valid policy per service naming exactly the tables and buckets its manifest
    gives it, and Terraform that attaches each to its own service account."""
    for name in SERVICES:
        path = f"deploy/iam/{name}.json"
        try:
            policy = json.load(open(path))
        except (OSError, ValueError) as e:
            check(False, f"{path}: {e}")
            continue
        check(policy.get("Version") == "2012-10-17", f"{path}: Version 2012-10-17")
        statements = policy.get("Statement", [])
        check(bool(statements) and all(s.get("Effect") == "Allow" and s.get("Action") and s.get("Resource")
                                       for s in statements), f"{path}: Allow statements with actions and resources")
        resources = [r for s in statements for r in s.get("Resource", [])]
        actions = [a for s in statements for a in s.get("Action", [])]
        d = by.get(("Deployment", name))
        if d is None:
            continue
        env = {e["name"]: e.get("value") for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        tables = [r.split(":table/")[1].split("/")[0] for r in resources if ":table/" in r]
        buckets = [r.split(":::")[1].split("/")[0] for r in resources if r.startswith("arn:aws:s3:::")]
        if "DYNAMODB_TABLE" in env:
            check(env["DYNAMODB_TABLE"] in tables, f"{path}: the manifest's table {env['DYNAMODB_TABLE']}")
        check(all(t.startswith(env.get("DYNAMODB_TABLE") or "-") for t in tables),
              f"{path}: only its own tables ({', '.join(sorted(set(tables)))})")
        own = {env[v] for v in ("DLQ_S3_BUCKET", "S3_BUCKET") if v in env}
        check(set(buckets) == own, f"{path}: exactly the buckets of its manifest ({', '.join(sorted(own)) or 'none'})")
        check(all(a.split(":")[0] in ("dynamodb", "s3") and "*" not in a for a in actions),
              f"{path}: named DynamoDB and S3 actions only")
        check("dynamodb:CreateTable" not in actions and "dynamodb:Scan" not in actions,
              f"{path}: no CreateTable or Scan")
        check(env.get("CREATE_TABLES") == "false" or not tables, f"{name}: CREATE_TABLES=false (its role cannot create tables)")
    terraform = hcl2.load(open("deploy/iam/pod-identity.tf"))
    resources = {k: v for r in terraform.get("resource", []) for k, v in r.items()}
    for kind in ("aws_iam_role", "aws_iam_policy", "aws_iam_role_policy_attachment", "aws_eks_pod_identity_association"):
        check(kind in resources, f"pod-identity.tf: {kind}")
    services = " ".join(str(l) for l in terraform.get("locals", []))
    accounts = {o["metadata"]["name"] for (kind, _), o in by.items() if kind == "ServiceAccount"}
    for name in SERVICES:
        check(name in services, f"pod-identity.tf: a role for {name}")
        check(name in accounts, f"pod-identity.tf: {name}'s service account exists")
    association = str(resources.get("aws_eks_pod_identity_association", ""))
    check("cdc-consumers" in services and "service_account" in association and "each.key" in association,
          "pod-identity.tf: each role associated with its service's account in cdc-consumers")


if __name__ == "__main__":
    sys.exit(main())
