# EKS Pod Identity for the three consumers: one IAM role per service, holding exactly the
# policy of deploy/iam/<service>.json, associated with the service's Kubernetes service account
# (k8s/service-accounts/service-accounts.yaml) in the cdc-consumers namespace. The seed links
# them this way with Terraform; add this file to that configuration (it needs the AWS provider
# and the EKS Pod Identity Agent add-on on the cluster).

variable "cluster_name" {
  type        = string
  description = "The EKS cluster the consumers run on"
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "The region of the tables and buckets (the policies name us-east-1)"
}

data "aws_caller_identity" "current" {}

locals {
  namespace = "cdc-consumers"
  services  = toset(["inventory-service", "analytics-service", "search-indexer"])
}

# Pods of the association may assume the role (the Pod Identity Agent does it for them).
data "aws_iam_policy_document" "pod_identity_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "consumer" {
  for_each           = local.services
  name               = "cdc-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_trust.json
}

resource "aws_iam_policy" "consumer" {
  for_each = local.services
  name     = "cdc-${each.key}"
  policy = replace(
    replace(file("${path.module}/${each.key}.json"), "ACCOUNT_ID", data.aws_caller_identity.current.account_id),
    "us-east-1", var.region
  )
}

resource "aws_iam_role_policy_attachment" "consumer" {
  for_each   = local.services
  role       = aws_iam_role.consumer[each.key].name
  policy_arn = aws_iam_policy.consumer[each.key].arn
}

resource "aws_eks_pod_identity_association" "consumer" {
  for_each        = local.services
  cluster_name    = var.cluster_name
  namespace       = local.namespace
  service_account = each.key
  role_arn        = aws_iam_role.consumer[each.key].arn
}
