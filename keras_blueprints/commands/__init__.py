"""The `blueprint` subcommands, one module each (registered with `@command`)."""
