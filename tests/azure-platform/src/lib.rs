//! Nothing here: this crate exists for its integration tests under `tests/`,
//! which run the Azure emulator (an axum server) in-process. Keeping them out
//! of `provider/` keeps axum out of `cargo tree -p terraform-provider-bluegreen`.
