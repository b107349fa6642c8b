"""What lives on disk, read without torch: the architecture description of acoustic models."""
