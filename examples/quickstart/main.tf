# The quickstart: a blue-green release on the embedded local platform.
# Run it with `make quickstart` from the repository root; run.sh drives it.

terraform {
  required_providers {
    bluegreen = {
      source = "agog/bluegreen"
    }
  }
}

variable "app_version" {
  description = "The version that must be live."
  type        = string
  default     = "1.2.0"
}

variable "app_binary" {
  description = "Path of the demo application (agog-demo-app)."
  type        = string
}

variable "listen" {
  description = "Front door address."
  type        = string
  default     = "127.0.0.1:8080"
}

provider "bluegreen" {
  local {
    endpoint  = "http://127.0.0.1:7480"
    state_dir = ".bluegreen"
  }
}

resource "bluegreen_environment" "shop" {
  name    = "shop"
  version = var.app_version

  local {
    command = [var.app_binary, "--port", "{port}", "--version", "{version}", "--color", "{color}"]
    # Release 1.3.1 of the demo app is a bad build: 5% of its answers are 500s.
    env = {
      AGOG_FAULTY_VERSION = "1.3.1"
      AGOG_ERROR_RATE     = "0.05"
    }
    listen        = var.listen
    drain_timeout = "10s"
  }

  health_check {
    path              = "/api/health"
    interval          = "500ms"
    healthy_threshold = 2
    deadline          = "1m"
  }

  smoke_test {
    name          = "orders"
    path          = "/api/orders"
    body_contains = "orders"
  }

  post_switch {
    window         = "10s"
    max_error_rate = 0.01
    min_requests   = 50
  }
}

output "live_version" {
  value = bluegreen_environment.shop.version
}

output "live_color" {
  value = bluegreen_environment.shop.live_color
}

output "endpoint" {
  value = bluegreen_environment.shop.endpoint
}

output "previous_version" {
  value = bluegreen_environment.shop.previous_version
}
