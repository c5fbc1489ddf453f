//! recueil-store
