variable "name" {
  description = "Environment name of this tenant group (lower-case letters, digits, dashes)."
  type        = string
}

variable "app_version" {
  description = "The version that must be live for this tenant group."
  type        = string
}

variable "candidate_version" {
  description = "A version to deploy to the idle colour and gate, without switching. Null for none."
  type        = string
  default     = null
}

variable "canary" {
  description = <<-EOT
    Canary routing for the candidate (in the same apply as candidate_version, or a later one):
    `weight` is the percent of requests without a tenant header, `tenants` always reach the canary
    (the group's pilot tenants). Null for no canary.
  EOT
  type = object({
    weight  = number
    tenants = list(string)
  })
  default = null
}

variable "listen" {
  description = "Front door address of this tenant group, e.g. 127.0.0.1:8181."
  type        = string
}

variable "command" {
  description = "Program and arguments of one colour, with {port}, {version} and {color} placeholders."
  type        = list(string)
}

variable "env" {
  description = "Extra environment variables for the colour processes."
  type        = map(string)
  default     = {}
}

variable "health_path" {
  description = "Health endpoint of the application."
  type        = string
  default     = "/api/health"
}

variable "watch_window" {
  description = "How long each release is watched after the switch."
  type        = string
  default     = "60s"
}

variable "tenant_header" {
  description = "Request header carrying the tenant id."
  type        = string
  default     = "X-Tenant-ID"
}
