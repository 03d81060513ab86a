// Placeholder: the HTTP adapter is being written here.
