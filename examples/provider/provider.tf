terraform {
  required_providers {
    bluegreen = {
      source = "agog/bluegreen"
    }
  }
}

variable "slack_webhook_url" {
  type      = string
  sensitive = true
}

variable "pagerduty_routing_key" {
  type      = string
  sensitive = true
}

# With no block at all the embedded local platform is used, started on demand.
provider "bluegreen" {
  local {
    endpoint  = "http://127.0.0.1:7480" # or BLUEGREEN_LOCAL_ENDPOINT
    state_dir = ".bluegreen"            # or BLUEGREEN_LOCAL_STATE_DIR; holds the admin token
    autostart = true
  }

  # Release alerts, as the release process routes them: Slack for warnings
  # and worse, PagerDuty for rollbacks and failures (resolved when the
  # version is later released). A receiver that is down costs an apply at
  # most its timeout and a warning; it never fails a release.
  notification {
    format       = "slack"
    url          = var.slack_webhook_url
    min_severity = "warning"
  }

  notification {
    format       = "pagerduty"
    routing_key  = var.pagerduty_routing_key
    events       = ["rolled_back", "failed", "succeeded"]
    min_severity = "critical"
    timeout      = "3s"
  }
}

# For environments with an azure block: credentials and cloud. Every argument
# falls back to the ARM_* variable azurerm reads, so `azure {}` is enough in a
# pipeline that sets them.
#
# provider "bluegreen" {
#   azure {
#     subscription_id = "00000000-0000-0000-0000-000000000000" # ARM_SUBSCRIPTION_ID
#     tenant_id       = "11111111-1111-1111-1111-111111111111" # ARM_TENANT_ID
#     client_id       = "22222222-2222-2222-2222-222222222222" # ARM_CLIENT_ID
#     use_oidc        = true                                   # ARM_USE_OIDC (GitHub Actions, workload identity)
#   }
# }
