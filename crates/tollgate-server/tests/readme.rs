//! The README's configuration example is a real configuration: it parses and validates
//! (key files are read only at start, so they need not exist here).

#[test]
fn the_readme_configuration_example_validates() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("A complete example with every field:")
        .expect("the example's introduction");
    let block = &readme[start..];
    let open = block.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let close = block[open..].find("```").expect("the block's end");
    let config = tollgate_server::Config::parse(&block[open..open + close])
        .unwrap_or_else(|e| panic!("the README example does not parse: {e}"));
    config
        .validate()
        .unwrap_or_else(|e| panic!("the README example is invalid: {e}"));
    assert_eq!(config.clients.len(), 2);
    assert_eq!(config.users().expect("users")[0].sub, "alice");
    assert_eq!(config.trusted_issuers().expect("trusted issuers").len(), 1);
    assert_eq!(
        config.cors().expect("cors").exact,
        ["https://app.example.com"]
    );
    assert!(matches!(
        config.store_setting().expect("store"),
        tollgate_server::config::StoreSetting::Postgres(_)
    ));
}
