# Three tenant groups, each released on its own, from one configuration.
# apac pilots 1.3.0 on its idle colour with a canary for its pilot tenant: the
# first apply creates the group, deploys and gates the candidate, then routes
# the pilot tenant (and 10% of untagged requests) to it.

terraform {
  required_providers {
    bluegreen = {
      source = "agog/bluegreen"
    }
  }
}

variable "app_binary" {
  description = "Path of the demo application (agog-demo-app)."
  type        = string
}

variable "groups" {
  description = "Tenant groups: front door, live version, and optionally a piloted candidate with its canary."
  type = map(object({
    listen            = string
    app_version       = string
    candidate_version = string
    canary = object({
      weight  = number
      tenants = list(string)
    })
  }))
  default = {
    eu = { listen = "127.0.0.1:8181", app_version = "1.3.0", candidate_version = null, canary = null }
    us = { listen = "127.0.0.1:8182", app_version = "1.3.0", candidate_version = null, canary = null }
    apac = {
      listen            = "127.0.0.1:8183"
      app_version       = "1.2.0"
      candidate_version = "1.3.0"
      canary            = { weight = 10, tenants = ["pilot-tenant-id"] }
    }
  }
}

provider "bluegreen" {}

module "tenant_group" {
  source   = "../../modules/tenant-release"
  for_each = var.groups

  name              = "tenants-${each.key}"
  app_version       = each.value.app_version
  candidate_version = each.value.candidate_version
  canary            = each.value.canary
  listen            = each.value.listen
  command           = [var.app_binary, "--port", "{port}", "--version", "{version}", "--color", "{color}"]
  watch_window      = "5s"
}

output "groups" {
  value = { for k, m in module.tenant_group : k => "${m.live_version} on ${m.live_color} at ${m.endpoint}" }
}

output "canaries" {
  description = "The colour serving each group's pilot tenants (null without a canary)."
  value       = { for k, m in module.tenant_group : k => m.canary_color }
}
