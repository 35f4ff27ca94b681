//! The `oxq` binary: everything is in the library ([`oxq_cli::main`]).

fn main() -> std::process::ExitCode {
    oxq_cli::main()
}
