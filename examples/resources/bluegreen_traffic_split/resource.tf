# The canary's version must run on the idle colour: candidate_version deploys
# and gates it there without moving traffic.
resource "bluegreen_environment" "api" {
  name              = "api"
  version           = "1.2.0"
  candidate_version = "1.3.0"

  local {
    command = ["agog-demo-app", "--port", "{port}", "--version", "{version}", "--color", "{color}"]
    listen  = "127.0.0.1:8080"
  }
}

resource "bluegreen_traffic_split" "api" {
  environment   = bluegreen_environment.api.name
  tenant_header = "X-Tenant-ID"

  canary {
    version = "1.3.0"
    weight  = 10                  # percent of requests without a tenant header
    tenants = ["pilot-tenant-id"] # always routed to the canary
  }

  # Ramp 5% → 10% within the apply, each step watched and gated.
  progressive {
    steps          = [5]
    interval       = "60s"
    max_error_rate = 0.01
  }
}
