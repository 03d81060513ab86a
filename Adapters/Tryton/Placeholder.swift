// Placeholder: the Tryton adapter is being written here.
