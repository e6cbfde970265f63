data "bluegreen_environment" "api" {
  name = "api"
}

output "next_release_lands_on" {
  value = data.bluegreen_environment.api.idle_color
}
