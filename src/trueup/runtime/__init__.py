"""Running flows: the scheduler, lane workers, the job backend port and the retry policy."""
