"""scim-tui: bulk user provisioning over SCIM 2.0, with a Textual dashboard and a headless command."""

__version__ = "0.1.0"
