output "endpoint" {
  description = "Front door URL of the tenant group."
  value       = bluegreen_environment.this.endpoint
}

output "live_version" {
  description = "The version live for the tenant group."
  value       = bluegreen_environment.this.version
}

output "live_color" {
  description = "The colour receiving the group's traffic."
  value       = bluegreen_environment.this.live_color
}

output "idle_color" {
  description = "Where the group's next release lands."
  value       = bluegreen_environment.this.idle_color
}

output "canary_color" {
  description = "The colour serving the pilot tenants, or null without a canary."
  value       = one(bluegreen_traffic_split.pilot[*].canary_color)
}
