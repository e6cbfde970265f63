resource "bluegreen_migration" "db" {
  database_url = var.database_url # postgres://app:…@db.internal:5432/app?sslmode=require
  source_dir   = "${path.module}/migrations"

  # Gate contract migrations on the colours of this environment: a migration
  # that breaks the previous release waits until no colour that can receive
  # traffic runs it (its `-- bluegreen:requires <version>` header, or the live
  # version by default).
  environment = "api"

  # Optional: stop at a version; later files stay pending.
  # target_version = "1.3.0"

  lock_timeout = "2m" # wait this long while Flyway or another apply migrates
}

variable "database_url" {
  type      = string
  sensitive = true
}

# Release after the schema is ready for the new version.
resource "bluegreen_environment" "api" {
  name    = "api"
  version = "1.3.0"

  local {
    command = ["agog-demo-app", "--port", "{port}", "--version", "{version}", "--color", "{color}"]
    listen  = "127.0.0.1:8080"
  }

  depends_on = [bluegreen_migration.db]
}
