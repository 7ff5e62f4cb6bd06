"""The web portal and HTTP API (`hramba serve`): a front end like the CLI, over the same
services; hramba.web.app says how it is built."""
