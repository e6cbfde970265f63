# Migrations are imported by where they live: the database URL is read from the
# environment variable named in the id (so the secret never appears on the
# command line), plus the migrations folder and, optionally, the history table.
export TF_VAR_database_url='postgres://app:secret@db.internal:5432/app'
terraform import bluegreen_migration.db 'database_url_env=TF_VAR_database_url,source_dir=./migrations'

# With a history table other than flyway_schema_history:
terraform import bluegreen_migration.db 'database_url_env=TF_VAR_database_url,source_dir=./migrations,history_table=app.schema_history'
