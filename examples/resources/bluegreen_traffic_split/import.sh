# A split is imported by its environment's name.
terraform import bluegreen_traffic_split.api api
