"""The notebook side: the sign-in form (or prompt) and progress bars."""
