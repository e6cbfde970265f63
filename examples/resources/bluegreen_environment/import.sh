# A local environment is imported by its name.
terraform import bluegreen_environment.api api

# An Azure environment is imported by its Container App id: the provider finds
# the rest (route, origin groups, image) in the bluegreen-* tags its releases
# keep on the app.
terraform import bluegreen_environment.api /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-orders/providers/Microsoft.App/containerApps/orders
