//! recueil-models
