//! Compiles the protocol definitions in `../schemas` with protox (no protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schemas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    println!("cargo:rerun-if-changed={}", schemas.display());
    let descriptors = protox::compile(["tfplugin6.proto", "goplugin.proto"], [&schemas])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
