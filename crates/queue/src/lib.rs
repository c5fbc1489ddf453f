//! recueil-queue
