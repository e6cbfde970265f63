# One tenant group: an environment with two colours behind its own front door,
# and, while a candidate is being piloted, a canary split for the group's
# pilot tenants.

resource "bluegreen_environment" "this" {
  name              = var.name
  version           = var.app_version
  candidate_version = var.candidate_version

  local {
    command = var.command
    env     = var.env
    listen  = var.listen
  }

  health_check {
    path = var.health_path
  }

  post_switch {
    window = var.watch_window
  }
}

resource "bluegreen_traffic_split" "pilot" {
  count = var.canary != null && var.candidate_version != null ? 1 : 0

  environment   = bluegreen_environment.this.name
  tenant_header = var.tenant_header

  canary {
    version = var.candidate_version
    weight  = var.canary.weight
    tenants = var.canary.tenants
  }
}
