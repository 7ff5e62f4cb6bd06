"""Where documents come from (directory, later feed, inbox, SFTP) and intake checks."""
