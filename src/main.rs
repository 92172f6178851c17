use clap::Parser;

#[actix_web::main]
async fn main() {
    let cli = verity::cli::Cli::parse();
    if let Err(e) = verity::cli::run(cli).await {
        eprintln!("verity: {e:#}");
        std::process::exit(1);
    }
}
