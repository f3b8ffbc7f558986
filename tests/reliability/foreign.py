"""A class outside gdlab, for the test that a model file using it is refused on load."""


class Payload:
    """Stands for any object an attacker could slip into a model file."""

    def __init__(self, command: str = "echo pwned"):
        self.command = command
