//! recueil-classify
