resource "bluegreen_environment" "api" {
  name    = "api"
  version = "1.3.0"

  local {
    command = ["agog-demo-app", "--port", "{port}", "--version", "{version}", "--color", "{color}"]
    listen  = "127.0.0.1:8080"
  }

  health_check {
    path              = "/api/health"
    expect_version    = true
    interval          = "1s"
    healthy_threshold = 2
    deadline          = "1m"
  }

  # Print equipment and dashboards keep WebSockets open: the new colour must
  # accept one, and answer "version" with its release, before the switch.
  websocket_check {
    path           = "/ws"
    send           = "version"
    expect_message = "{version}"
  }

  smoke_test {
    name          = "orders"
    path          = "/api/orders"
    body_contains = "orders"
  }

  # The seed's rollback triggers: more than 1% errors or a p95 50% worse.
  post_switch {
    window           = "2m"
    max_error_rate   = 0.01
    max_p95_increase = 0.5
  }

  timeouts {
    update = "30m"
  }
}

output "live" {
  value = "${bluegreen_environment.api.version} on ${bluegreen_environment.api.live_color} at ${bluegreen_environment.api.endpoint}"
}
