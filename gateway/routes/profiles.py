"""Taste profiles: a user's named favourites (artists, albums, tracks, genres), resolved
once, that recommendation requests name in `profiles` instead of repeating seeds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field, model_validator

from gateway.auth import Role, requires
from gateway.routes.recommendations import _resolve_seed_names
from gateway.schemas import ResourceSummary
from juke.ranker.v1 import ranker_pb2 as rpb

router = APIRouter(prefix="/api/v1", tags=["profiles"], dependencies=[requires(Role.READ)])
WRITE = [requires(Role.WRITE)]  # creating, changing and deleting a profile is a user write

Ref = Annotated[str, Field(min_length=1, max_length=1000)]
FAVOURITES = ("juke_id, MBID, '<source>:<id>', juke:<type>:<id> URI, or a plain name (which "
              "must match one resource exactly); each must resolve or nothing is stored")
ProfileId = Annotated[str, Path(max_length=64, description="the profile's id (a UUID)")]


class ProfileIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=200)
    favourites: list[Ref] = Field(min_length=1, max_length=100, description=FAVOURITES)


class ProfileUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200,
                             description="absent: unchanged")
    favourites: list[Ref] | None = Field(
        default=None, min_length=1, max_length=100,
        description=f"replace the favourites; absent: unchanged. {FAVOURITES}")

    @model_validator(mode="after")
    def _changes_something(self) -> ProfileUpdate:
        if self.name is None and self.favourites is None:
            raise ValueError("give a name, favourites or both")
        return self


class ProfileOut(BaseModel):
    id: str
    user_id: str
    name: str
    favourites: list[ResourceSummary]
    created_at: str
    updated_at: str

    @classmethod
    def from_pb(cls, p: Any) -> ProfileOut:
        return cls(id=p.id, user_id=p.user_id, name=p.name,
                   favourites=[ResourceSummary.from_pb(f) for f in p.favourites],
                   created_at=p.created_at.ToJsonString(), updated_at=p.updated_at.ToJsonString())


class ProfilesOut(BaseModel):
    profiles: list[ProfileOut]


async def _favourite_ids(request: Request, favourites: list[str]) -> list[str]:
    # Names resolve exactly as seed_items do; the ranker resolves the ids again, fail-closed.
    return await _resolve_seed_names(request, favourites, what="favourite")


@router.post("/profiles", response_model=ProfileOut, status_code=201, dependencies=WRITE,
             summary="Create a taste profile")
async def create_profile(body: ProfileIn, request: Request) -> ProfileOut:
    """A new profile of `user_id` holding the resolved favourites, in the order given
    (repeats dropped). A favourite that does not resolve is a 400 naming it with its
    `index`, and nothing is stored."""
    reply = await request.app.state.clients.ranker.CreateTasteProfile(
        rpb.CreateTasteProfileRequest(user_id=body.user_id, name=body.name,
                                      favourites=await _favourite_ids(request, body.favourites)))
    return ProfileOut.from_pb(reply.profile)


@router.get("/profiles/{profile_id}", response_model=ProfileOut, summary="Get a taste profile")
async def get_profile(profile_id: ProfileId, request: Request) -> ProfileOut:
    """The profile with its favourites as the catalog names them now; unknown id: 404."""
    reply = await request.app.state.clients.ranker.GetTasteProfile(
        rpb.GetTasteProfileRequest(id=profile_id))
    return ProfileOut.from_pb(reply.profile)


@router.put("/profiles/{profile_id}", response_model=ProfileOut, dependencies=WRITE,
            summary="Rename a taste profile or replace its favourites")
async def update_profile(profile_id: ProfileId, body: ProfileUpdate,
                         request: Request) -> ProfileOut:
    """`name` renames it, `favourites` replace the old ones (resolved like on create);
    what is absent stays as it is. Unknown id: 404."""
    favourites = await _favourite_ids(request, body.favourites) if body.favourites else []
    reply = await request.app.state.clients.ranker.UpdateTasteProfile(
        rpb.UpdateTasteProfileRequest(id=profile_id, name=body.name or "",
                                      favourites=favourites))
    return ProfileOut.from_pb(reply.profile)


@router.delete("/profiles/{profile_id}", status_code=204, dependencies=WRITE,
               response_class=Response, summary="Delete a taste profile")
async def delete_profile(profile_id: ProfileId, request: Request) -> Response:
    """Deletes the profile and its favourites; unknown id: 404."""
    await request.app.state.clients.ranker.DeleteTasteProfile(
        rpb.DeleteTasteProfileRequest(id=profile_id))
    return Response(status_code=204)


@router.get("/users/{user_id}/profiles", response_model=ProfilesOut,
            summary="A user's taste profiles")
async def user_profiles(user_id: Annotated[str, Path(max_length=256)],
                        request: Request) -> ProfilesOut:
    """Every profile of the user, oldest first (an empty list for an unknown user)."""
    reply = await request.app.state.clients.ranker.ListTasteProfiles(
        rpb.ListTasteProfilesRequest(user_id=user_id))
    return ProfilesOut(profiles=[ProfileOut.from_pb(p) for p in reply.profiles])
