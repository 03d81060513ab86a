// Placeholder: the Process adapter is being written here.
