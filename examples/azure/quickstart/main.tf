# The Azure quickstart's configuration, run by run.sh against the Azure
# emulator: the ids of what azurerm would have created come in as TF_VAR_*,
# the credentials as ARM_* (see ../main.tf for a real subscription).
terraform {
  required_providers {
    bluegreen = {
      source = "agog/bluegreen"
    }
  }
}

variable "release" {
  type = string
}
variable "container_app_id" {
  type = string
}
variable "front_door_route_id" {
  type = string
}
variable "blue_origin_group_id" {
  type = string
}
variable "green_origin_group_id" {
  type = string
}
variable "ca_certificate_file" {
  description = "The emulator's CA (a real Azure needs none)."
  type        = string
}

provider "bluegreen" {
  azure {
    ca_certificate_file = var.ca_certificate_file
  }
}

resource "bluegreen_environment" "orders" {
  name    = "orders"
  version = var.release

  azure {
    container_app_id      = var.container_app_id
    image                 = "agog/orders:{version}"
    front_door_route_id   = var.front_door_route_id
    blue_origin_group_id  = var.blue_origin_group_id
    green_origin_group_id = var.green_origin_group_id
  }

  health_check {
    interval = "500ms"
    deadline = "1m"
  }

  post_switch {
    window         = "20s"
    max_error_rate = 0.01
    min_requests   = 20
  }
}

output "live_version" {
  value = bluegreen_environment.orders.version
}
output "live_color" {
  value = bluegreen_environment.orders.live_color
}
output "previous_version" {
  value = coalesce(bluegreen_environment.orders.previous_version, "nothing")
}
