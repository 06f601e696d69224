fn main() -> std::process::ExitCode {
    meetctl::cli::main()
}
