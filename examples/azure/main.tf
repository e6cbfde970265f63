# Blue-green releases of a Container App behind Azure Front Door.
#
# The infrastructure (the app in Multiple revision mode, the Front Door
# profile, endpoint, route, origin groups and rule set) is created with azurerm:
# see README.md for those resources and the lifecycle blocks azurerm needs.
# This configuration only releases: pass their ids as variables (or reference
# the azurerm resources directly when they live in the same configuration).

terraform {
  required_providers {
    bluegreen = {
      source = "agog/bluegreen"
    }
  }
}

# Credentials and cloud. Each argument falls back to the ARM_* variable azurerm
# reads (ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET,
# ARM_USE_OIDC, ARM_USE_MSI, ARM_USE_CLI, ARM_ENVIRONMENT), so a pipeline that
# runs azurerm needs nothing more here.
provider "bluegreen" {
  azure {}
}

variable "version_to_release" {
  description = "The version that must be live, e.g. 1.3.0 (the image tag)."
  type        = string
}

variable "candidate_version" {
  description = "A version to deploy to the idle colour for a canary, or null."
  type        = string
  default     = null
}

variable "container_app_id" {
  description = "azurerm_container_app.api.id (revision_mode = \"Multiple\")."
  type        = string
}

variable "front_door_route_id" {
  description = "azurerm_cdn_frontdoor_route.api.id."
  type        = string
}

variable "blue_origin_group_id" {
  description = "The origin group whose origin is the app's blue label host name."
  type        = string
}

variable "green_origin_group_id" {
  description = "The origin group whose origin is the app's green label host name."
  type        = string
}

variable "split_origin_group_id" {
  description = "The origin group with both labels' origins, for canaries."
  type        = string
}

variable "rule_set_id" {
  description = "The rule set attached to the route, for tenant routing."
  type        = string
}

resource "bluegreen_environment" "orders" {
  name              = "orders"
  version           = var.version_to_release
  candidate_version = var.candidate_version

  azure {
    container_app_id      = var.container_app_id
    image                 = "myregistry.azurecr.io/orders:{version}"
    front_door_route_id   = var.front_door_route_id
    blue_origin_group_id  = var.blue_origin_group_id
    green_origin_group_id = var.green_origin_group_id
    split_origin_group_id = var.split_origin_group_id
    rule_set_id           = var.rule_set_id
  }

  # Against the label's own address (https://orders---green.<domain>), never
  # through Front Door.
  health_check {
    path     = "/api/health"
    interval = "5s"
    deadline = "10m"
  }

  smoke_test {
    name          = "orders"
    path          = "/api/orders"
    body_contains = "orders"
  }

  # Azure Monitor has no p95 for Front Door: the latency rule uses the
  # average, and the diagnostics say so. Figures arrive a minute or more
  # late, so watch long enough to judge.
  post_switch {
    window         = "10m"
    max_error_rate = 0.01
  }

  # A Front Door change reaches every edge location within minutes, sometimes
  # 20 or more: the switch waits for all of them before the watch starts.
  timeouts {
    create = "45m"
    update = "45m"
  }
}

# Pilot tenants and 10% of untagged traffic to the candidate, by origin weights
# in the split origin group and two rules on the tenant header: pilot tenants to
# the candidate, every other tenant kept on the live colour.
resource "bluegreen_traffic_split" "orders" {
  count         = var.candidate_version == null ? 0 : 1
  environment   = bluegreen_environment.orders.name
  tenant_header = "X-Tenant-ID"

  canary {
    version = var.candidate_version
    weight  = 10
    tenants = ["pilot-tenant-id"]
  }
}

output "live" {
  value = {
    color    = bluegreen_environment.orders.live_color
    previous = bluegreen_environment.orders.previous_version
    endpoint = bluegreen_environment.orders.endpoint
  }
}
