from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from insurance.core.roles import user_roles

from ..models import AgentProfile, CustomerProfile, User


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "roles"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_roles(self, user: User) -> list[str]:
        return sorted(user_roles(user))


class AgentProfileSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = AgentProfile
        fields = ["id", "user", "agency", "licence_number", "phone", "created_at", "updated_at"]
        read_only_fields = fields


class CustomerProfileSerializer(serializers.ModelSerializer):
    """Contact details are editable by the customer, their agent and staff; the serving agent is read-only here."""

    user = UserSummarySerializer(read_only=True)
    agent = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = CustomerProfile
        fields = [
            "id",
            "user",
            "agent",
            "phone",
            "date_of_birth",
            "address_line1",
            "address_line2",
            "city",
            "postal_code",
            "region",
            "country",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "user", "agent", "created_at", "updated_at"]


class TokenLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Send it as `Authorization: Token <token>`.")
