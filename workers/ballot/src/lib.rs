//! recueil-ballot
