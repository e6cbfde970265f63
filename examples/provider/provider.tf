terraform {
  required_providers {
    bluegreen = {
      source = "agog/bluegreen"
    }
  }
}

# With no block at all the embedded local platform is used, started on demand.
provider "bluegreen" {
  local {
    endpoint  = "http://127.0.0.1:7480" # or BLUEGREEN_LOCAL_ENDPOINT
    state_dir = ".bluegreen"            # or BLUEGREEN_LOCAL_STATE_DIR; holds the admin token
    autostart = true
  }
}
