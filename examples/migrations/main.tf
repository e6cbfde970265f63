# The release process's migration story (V1.3.0 / V1.3.1), on the local platform.
#
#   terraform apply -var release=1.2.0 -var schema=1.2.0   # first release, on blue
#   terraform apply -var release=1.3.0 -var schema=1.3.0   # V1.3.0 (expand) runs first, then green goes live
#   terraform plan  -var release=1.3.0 -var schema=1.3.1   # refused: blue still runs 1.2.0, kept for rollback
#   terraform apply -var release=1.4.0 -var schema=1.3.0   # next release lands on blue; no colour runs 1.2.0 now
#   terraform apply -var release=1.4.0 -var schema=1.3.1   # V1.3.1 (contract) is accepted
#
# See README.md for what each step shows.

terraform {
  required_providers {
    bluegreen = { source = "agog/bluegreen" }
  }
}

provider "bluegreen" {}

variable "release" {
  description = "The application version that must be live."
  type        = string
  default     = "1.3.0"
}

variable "schema" {
  description = "The last migration version to apply."
  type        = string
  default     = "1.3.0"
}

variable "database_url" {
  description = "postgres://user:password@host:5432/db, or the embedded SQLite default."
  type        = string
  sensitive   = true
  default     = "sqlite://agog.db"
}

locals {
  # A plain name, not a reference: the migration must run before the release
  # (the new version needs its columns), so the environment depends on it.
  environment = "api"
}

resource "bluegreen_migration" "db" {
  database_url   = var.database_url
  source_dir     = "${path.module}/sql"
  environment    = local.environment
  target_version = var.schema
}

resource "bluegreen_environment" "api" {
  name    = local.environment
  version = var.release

  local {
    command = ["agog-demo-app", "--port", "{port}", "--version", "{version}", "--color", "{color}"]
    listen  = "127.0.0.1:8080"
  }

  depends_on = [bluegreen_migration.db]
}

output "applied_version" {
  value = bluegreen_migration.db.applied_version
}

output "pending" {
  value = [for m in bluegreen_migration.db.pending : "${m.version} ${m.class}"]
}
