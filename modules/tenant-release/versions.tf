terraform {
  required_version = ">= 1.0"
  required_providers {
    bluegreen = {
      source = "agog/bluegreen"
    }
  }
}
