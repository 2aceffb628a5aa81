"""Request and response models of the service: ``*Create`` / ``*Update`` (what a client sends) apart from
``*Public`` (what it gets back), one module per resource group."""
