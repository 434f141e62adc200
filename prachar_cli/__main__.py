from prachar_cli.main import cli

cli()
