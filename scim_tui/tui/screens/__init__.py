"""The dashboard's screens: load, plan, run and report, and the modal dialogs."""
