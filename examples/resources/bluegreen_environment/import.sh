# Environments are imported by name (local platform).
terraform import bluegreen_environment.api api
