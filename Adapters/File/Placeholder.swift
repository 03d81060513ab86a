// Placeholder: the File adapter is being written here.
