# 1.3.0 runs on the idle colour (candidate_version = "1.3.0" on the environment).
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
